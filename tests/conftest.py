import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Never touch the real user's settings, history or autosaves from tests.
_USER_DIRS = tempfile.mkdtemp(prefix="chainstudio-tests-")
os.environ["CHAINSTUDIO_DATA_DIR"] = os.path.join(_USER_DIRS, "data")
os.environ["CHAINSTUDIO_CONFIG_DIR"] = os.path.join(_USER_DIRS, "config")
# Keep keyring off the desktop's secret store in tests unless a test opts in.
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "resources" / "examples"
sys.path.insert(0, str(ROOT))
