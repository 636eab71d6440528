/* crc32.h - private: CRC-32 (the zlib/gzip polynomial) of the .ble blocks. */
#ifndef BL_CRC32_H
#define BL_CRC32_H

#include <stddef.h>
#include <stdint.h>

/*
 * The same function as zlib's crc32(crc, p, n): start from 0 (or a previous
 * result, to continue a running CRC).  On x86-64 CPUs with PCLMULQDQ and
 * SSE4.1 the bulk is folded with carry-less multiplies; the rest, and other
 * CPUs, use zlib's crc32.
 */
uint32_t bl_crc32(uint32_t crc, const void *p, size_t n);

/* The same through zlib alone (the reference, and the fallback). */
uint32_t bl_crc32_zlib(uint32_t crc, const void *p, size_t n);
/* Kernels the CPU runs: 0 none, 1 PCLMULQDQ (128-bit), 2 also VPCLMULQDQ
   on 512-bit registers. */
int bl_crc32_have_clmul(void);
/* Test hook: use at most kernel `level` (0 = zlib only); returns the
   previous level.  Not thread-safe: tests only. */
int bl_crc32_use_clmul(int level);
/* Name of the kernel bl_crc32 uses: "vpclmulqdq", "pclmulqdq" or "zlib". */
const char *bl_crc32_kernel_name(void);
#endif
