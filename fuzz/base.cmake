ll_fuzz_target(base_time ll_base)
ll_fuzz_target(base_dtoa ll_base)
