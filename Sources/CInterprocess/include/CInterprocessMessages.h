// C shim declarations for the Messages area (see CInterprocess.h for the rules).
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
