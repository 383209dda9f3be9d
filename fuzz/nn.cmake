ll_fuzz_target(nn_safetensors ll_nn)
