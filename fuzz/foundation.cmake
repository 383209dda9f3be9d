# Fuzz targets of the server's parsers: URLs and query strings, media paths and routes, Range
# and Cookie headers (http_url), multipart bodies (http_multipart), JSON text (base_json) and
# whole requests through the API dispatcher on a scratch database (api_request), and what the
# API decides from headers alone: routes, credentials, cross-site checks (api_admit).
ll_fuzz_target(http_url ll_http)
ll_fuzz_target(http_multipart ll_http)
ll_fuzz_target(base_json ll_base)
ll_fuzz_target(api_request ll_api)
ll_fuzz_target(api_admit ll_api)
