ll_fuzz_target(base_time ll_base)
