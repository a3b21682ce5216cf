"""The shared core every capability builds on: jobs, the model registry, progress, shared reads.

core imports no capability package; capabilities register their job handlers here through
`recommend.core.jobs.job_handler` from their own `jobs.py` (imported by `RecommendConfig.ready`).
"""
