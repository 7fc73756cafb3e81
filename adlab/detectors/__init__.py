"""Anomaly detectors with one contract (see :mod:`adlab.detectors.base`): higher score = more anomalous.

The list of detectors is :mod:`adlab.registry` (``registry.detectors()``); nothing here keeps one.
"""

from adlab.detectors.base import DeepDetector, Detector, NotFittedError, TrainPlan, check_X
from adlab.detectors.baselines import IsolationForestDetector, KNNDetector, OCSVMDetector
from adlab.detectors.csi import CSI
from adlab.detectors.deep_svdd import DeepSVDD
from adlab.detectors.droc import DROC
from adlab.detectors.goad import GOAD


def get_detector(name: str) -> type[Detector]:
    """The detector class registered under ``name`` (:func:`adlab.registry.detector`)."""
    from adlab import registry

    return registry.detector(name)


__all__ = [
    "CSI",
    "DROC",
    "DeepDetector",
    "DeepSVDD",
    "Detector",
    "GOAD",
    "IsolationForestDetector",
    "KNNDetector",
    "NotFittedError",
    "OCSVMDetector",
    "TrainPlan",
    "check_X",
    "get_detector",
]
