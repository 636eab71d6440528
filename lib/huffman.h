/* huffman.h - a Huffman-only zlib (RFC 1950/1951) compressor (private).
 *
 * Output is an ordinary zlib stream that any inflate reads; it uses literals
 * and end-of-block codes only, never LZ77 matches, because Bloom filters hold
 * no repeated strings worth finding.  See huffman.c for the block format
 * choices.
 */
#ifndef BL_HUFFMAN_H
#define BL_HUFFMAN_H
#include <stddef.h>
#include <stdint.h>

#include "bloomlink.h"

/*
 * Most bytes bl_huffman_zlib writes for n input bytes: the stored-block
 * encoding plus headers.  Never more than zlib's compressBound(n), so readers
 * that check a block's size against compressBound accept it.  Returns 0 if
 * the bound would overflow size_t.
 */
size_t bl_huffman_zlib_bound(size_t n);

/*
 * Compress in[0..n) into out[0..cap) as one zlib stream; *out_len receives
 * its length.  Each deflate block gets its own Huffman table, and a block
 * that would not shrink is stored instead, so the output never exceeds
 * bl_huffman_zlib_bound(n).  Uses about 20 KiB of stack and no heap; it is
 * thread-safe (the only shared state is the kernel choice, made once).  in
 * may be NULL when n is 0.
 * Returns BL_OK, or BL_EMISUSE (nothing useful written) when cap is too small
 * for the output or a pointer is NULL.
 */
bl_status bl_huffman_zlib(const uint8_t *in, size_t n, uint8_t *out, size_t cap, size_t *out_len);

/* The same, also returning the CRC-32 of the input (as zlib's crc32(0, in,
   n)) through *crc, computed block by block while the input is in cache. */
bl_status bl_huffman_zlib_crc(const uint8_t *in, size_t n, uint8_t *out, size_t cap,
                              size_t *out_len, uint32_t *crc);

/* Test hook: 0 makes the coder use its portable code only, 1 the AVX-512
   kernels where the CPU has them; returns the previous setting (0 when the
   CPU lacks them).  Not thread-safe: tests only. */
int bl_huffman_use_simd(int on);

#endif
