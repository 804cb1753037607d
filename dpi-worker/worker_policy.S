/* The seccomp allowlist of this process, embedded from policy/worker.policy
 * so the binary loads exactly the text a reviewer reads (common/sandbox.h). */
	.section .rodata
	.global worker_policy
	.type worker_policy, @object
worker_policy:
	.incbin "policy/worker.policy"
	.byte 0
	.size worker_policy, . - worker_policy
	.section .note.GNU-stack, "", @progbits
