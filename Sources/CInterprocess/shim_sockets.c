#define _GNU_SOURCE
#include "CInterprocessSockets.h"
