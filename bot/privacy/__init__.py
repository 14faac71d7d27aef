"""Patient privacy: where personal data lives, retention limits, erasure and export.

- `registry.py`: every place that holds personal data, each with erase / expire / export.
- `erasure.py`: erasure of one conversation, recorded as a job before it runs, so that a crash
  halfway is finished by the worker; tickets an open emergency or urgent report keeps are held
  until a clinician resolves them.
- `retention.py`: the worker's scheduled removal of everything past its limit (data/clinic.yml).
- `export.py`: everything held about one conversation, as JSON.
- `texts.py`: what the patient is told, in each reply language.
"""
