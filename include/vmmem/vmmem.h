/* SPDX-License-Identifier: MIT */
/* vmmem/vmmem.h - everything libvmmem offers, in one include. */
#ifndef VMMEM_VMMEM_H
#define VMMEM_VMMEM_H

#include <vmmem/addr.h>
#include <vmmem/atomic.h>
#include <vmmem/dirty.h>
#include <vmmem/error.h>
#include <vmmem/io.h>
#include <vmmem/memory.h>
#include <vmmem/platform.h>
#include <vmmem/region.h>
#include <vmmem/scalar.h>
#include <vmmem/slice.h>
#include <vmmem/space.h>
#include <vmmem/uffd.h>

#endif /* VMMEM_VMMEM_H */
