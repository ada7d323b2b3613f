// Time and threads. Thread count goes through here so builds without OpenMP
// compile the same code.
#ifndef AHA_SYS_H
#define AHA_SYS_H

#include <stddef.h>

// Monotonic seconds.
double time_now(void);
// Threads used by parallel regions (1 without OpenMP).
int threads_get(void);
void threads_set(int n);
// This thread's number inside a parallel region (0 outside one or without OpenMP).
int thread_index(void);
// Threads in the current parallel region's team (1 outside one or without OpenMP).
int thread_team_size(void);
// Peak resident set size of this process in bytes (0 if unknown).
size_t peak_rss_bytes(void);
// MemAvailable of /proc/meminfo in bytes: what the machine can give a new
// allocation without swapping (0 if unknown).
size_t mem_available_bytes(void);
// Give the whole pages inside [p, p + bytes) back to the system: they read as
// zeros (anonymous memory) or as the file again (a mapping) when touched.
void mem_release_pages(const void *p, size_t bytes);

#endif
