"""Where the project's data files live; overridable by environment for tests and deployments."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("MESO_DATA_DIR", PROJECT_ROOT / "data"))
VAR_DIR = Path(os.environ.get("MESO_VAR_DIR", PROJECT_ROOT / "var"))
KNOWLEDGE_DIR = DATA_DIR / "knowledge"
TRIAGE_DIR = DATA_DIR / "triage"
CLINIC_CONFIG = Path(os.environ.get("MESO_CLINIC_CONFIG", DATA_DIR / "clinic.yml"))
SEEDS_DIR = Path(os.environ.get("MESO_SEEDS_DIR", PROJECT_ROOT.parent / "shared" / "seeds"))
MODELS_DIR = Path(os.environ.get("MESO_MODELS_DIR", PROJECT_ROOT / "models"))
TRIAGE_DETECTOR_MODEL = MODELS_DIR / "triage_detector.joblib"
