#define _GNU_SOURCE
#include "CInterprocessStreams.h"
