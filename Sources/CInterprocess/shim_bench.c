#define _GNU_SOURCE
#include "CInterprocessBench.h"
