/* The seccomp allowlist of this process, embedded from policy/broker.policy
 * so the binary loads exactly the text a reviewer reads (common/sandbox.h). */
	.section .rodata
	.global broker_policy
	.type broker_policy, @object
broker_policy:
	.incbin "policy/broker.policy"
	.byte 0
	.size broker_policy, . - broker_policy
	.section .note.GNU-stack, "", @progbits
