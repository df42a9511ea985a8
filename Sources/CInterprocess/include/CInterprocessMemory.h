// C shim declarations for the Memory area (see CInterprocess.h for the rules).
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
