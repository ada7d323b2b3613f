// CRC-32C (Castagnoli, the iSCSI/ext4 checksum): the integrity check of
// checkpoint files. A checksum, not a signature: it catches torn writes and
// flipped bits, not deliberate forgery.
#ifndef AHA_BASE_CRC32C_H
#define AHA_BASE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

// CRC of buf[0..len) continued from crc (0 to start). crc32c("123456789") = 0xe3069283.
uint32_t crc32c_update(uint32_t crc, const void *buf, size_t len);
// CRC and size of a whole regular file, read in fixed-size chunks (files may
// be larger than memory). Returns 0, or -1 after err_set naming the path.
int crc32c_file(const char *path, uint32_t *crc, uint64_t *size);

#endif
