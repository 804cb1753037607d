/* Test builds only (FLOWSENSE_TEST_HOOKS; never the release binaries): a
 * packet carrying "FLOWSENSE-TEST-SYSCALL:<name>" makes the worker attempt
 * what a compromised worker would, so the tests can prove the sandbox
 * stops it.  <name>: socket, open, execve, mmap-exec, ptrace. */
#ifndef FLOWSENSE_WORKER_TEST_HOOKS_H
#define FLOWSENSE_WORKER_TEST_HOOKS_H

#include <stdint.h>

#ifdef FLOWSENSE_TEST_HOOKS
void test_hook_packet(const uint8_t *frame, uint32_t len);
#else
static inline void test_hook_packet(const uint8_t *frame, uint32_t len)
{
    (void)frame;
    (void)len;
}
#endif

#endif
