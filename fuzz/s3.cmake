# Fuzz target of the S3 client's XML parsers (ListObjectsV2 pages and <Error> documents).
ll_fuzz_target(s3_listing ll_s3)
