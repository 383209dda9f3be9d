# Fuzz target of the ML backend's parser of media URLs: query values of /data/local-files/?d=
# and their confinement to a document root (mlb_url).
ll_fuzz_target(mlb_url ll_mlb)
