ll_fuzz_target(det_model ll_det)
