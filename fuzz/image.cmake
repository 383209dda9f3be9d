ll_fuzz_target(image_decode ll_image)
ll_fuzz_target(image_exif ll_image)
