#define _GNU_SOURCE
#include "CInterprocessMessages.h"
