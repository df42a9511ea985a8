#define _GNU_SOURCE
#include "CInterprocessMemory.h"
