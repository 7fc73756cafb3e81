"""Anomaly detectors with one contract (see :mod:`adlab.detectors.base`): higher score = more anomalous."""

from adlab.detectors.base import DeepDetector, Detector, NotFittedError, check_X
from adlab.detectors.baselines import IsolationForestDetector, KNNDetector, OCSVMDetector
from adlab.detectors.csi import CSI
from adlab.detectors.deep_svdd import DeepSVDD
from adlab.detectors.droc import DROC
from adlab.detectors.goad import GOAD

DETECTORS: dict[str, type[Detector]] = {
    cls.name: cls for cls in (DeepSVDD, GOAD, DROC, CSI, KNNDetector, IsolationForestDetector, OCSVMDetector)
}


def get_detector(name: str) -> type[Detector]:
    """The detector class registered under ``name`` (ValueError listing the names otherwise)."""
    try:
        return DETECTORS[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; choose one of {', '.join(DETECTORS)}") from None


__all__ = [
    "CSI",
    "DETECTORS",
    "DROC",
    "DeepDetector",
    "DeepSVDD",
    "Detector",
    "GOAD",
    "IsolationForestDetector",
    "KNNDetector",
    "NotFittedError",
    "OCSVMDetector",
    "check_X",
    "get_detector",
]
