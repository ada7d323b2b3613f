// CRC-32C, table-driven, eight bytes per step ("slicing-by-8"): a few GB/s
// without SSE4.2, so checksumming a checkpoint costs little next to writing it.
#include "base/crc32c.h"
#include "base/err.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static uint32_t table[8][256];   // table[k][b]: CRC of byte b followed by k zero bytes
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

// The reflected polynomial 0x1EDC6F41.
static void table_init(void) {
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int i = 0; i < 8; i++) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[0][b] = c;
    }
    for (int k = 1; k < 8; k++)
        for (int b = 0; b < 256; b++) table[k][b] = (table[k - 1][b] >> 8) ^ table[0][table[k - 1][b] & 0xff];
}

uint32_t crc32c_update(uint32_t crc, const void *buf, size_t len) {
    pthread_once(&table_once, table_init);
    const unsigned char *p = buf;
    uint32_t c = ~crc;
    for (; len >= 8; p += 8, len -= 8) {
        // Little-endian word order, as the byte-wise loop below would consume it.
        uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
        c = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^ table[4][lo >> 24] ^
            table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^ table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
    }
    while (len--) c = (c >> 8) ^ table[0][(c ^ *p++) & 0xff];
    return ~c;
}

int crc32c_file(const char *path, uint32_t *crc, uint64_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return err_set("%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return err_set("%s: not a regular file", path);
    }
    enum { CHUNK = 1 << 20 };
    unsigned char *chunk = malloc(CHUNK);
    if (!chunk) {
        fclose(f);
        return err_set("%s: out of memory", path);
    }
    uint32_t c = 0;
    uint64_t n = 0;
    size_t got;
    while ((got = fread(chunk, 1, CHUNK, f)) > 0) {
        c = crc32c_update(c, chunk, got);
        n += got;
    }
    int bad = ferror(f);
    fclose(f);
    free(chunk);
    if (bad) return err_set("%s: read error", path);
    *crc = c;
    *size = n;
    return 0;
}
