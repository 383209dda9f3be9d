ll_fuzz_target(nn_safetensors ll_nn)
ll_fuzz_target(nn_tfjs ll_nn)
