/* The seccomp allowlist of this process, embedded from policy/capture.policy
 * so the binary loads exactly the text a reviewer reads (common/sandbox.h). */
	.section .rodata
	.global capture_policy
	.type capture_policy, @object
capture_policy:
	.incbin "policy/capture.policy"
	.byte 0
	.size capture_policy, . - capture_policy
	.section .note.GNU-stack, "", @progbits
