"""The format version of the CPU calibrations in the cache folder (mmnet.calibration_cache), apart so that the
cache's listing (``mmnet info --cache``, ``mmnet cache prune --stale``) reads it without loading torch."""

CACHE_VERSION = 3  # 2: kernel routes measured too; 3: rounds' spread and the host's load recorded
