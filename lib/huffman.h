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

/* How bl_huffman_zlib cuts n input bytes into deflate blocks: returns their
   number; block b holds base + (b < extra) bytes, in order. */
size_t bl_huffman_split(size_t n, size_t *base, size_t *extra);

/*
 * The same stream built a deflate block at a time, for a caller that gets
 * its input in pieces and wants each coded while it is still in cache:
 * begin (the zlib header), then blocks of at most 65,535 bytes (the last
 * one with final set; it may be empty), then end (the Adler-32; *out_len
 * is the stream's length and *crc, if not NULL, the CRC-32 of all input).
 * Blocks cut as bl_huffman_split cuts give bl_huffman_zlib's bytes exactly.
 * cap must hold the stream: n + 6 + 5 per block is always enough.  The
 * first failure (BL_EMISUSE: no room, or a bad argument) sticks.  The
 * state is about 20 KiB; allocate bl_huffman_stream_size() bytes.
 */
typedef struct bl_huffman_stream bl_huffman_stream;
size_t bl_huffman_stream_size(void);
bl_status bl_huffman_begin(bl_huffman_stream *s, uint8_t *out, size_t cap);
bl_status bl_huffman_block(bl_huffman_stream *s, const uint8_t *in, size_t n, int final);
bl_status bl_huffman_end(bl_huffman_stream *s, size_t *out_len, uint32_t *crc);

/* Test hook: 0 makes the coder use its portable code only, 1 the AVX-512
   kernels where the CPU has them; returns the previous setting (0 when the
   CPU lacks them).  Not thread-safe: tests only. */
int bl_huffman_use_simd(int on);
/* Name of the literal/Adler-32 kernel in use: "avx512vbmi" or "portable". */
const char *bl_huffman_kernel_name(void);

#endif
