"""Datasets for adlab: toy 2-D sets, image sets, and the one-class train/test split.

Every loader returns a ``Dataset`` (float32 ``X``, int64 ``y``, class names); unusable data raises
``DataError`` (a ``ValueError``) with a message that says what to do.
"""

from .images import (
    TORCHVISION_NAMES,
    load_digits,
    load_mnist_idx,
    load_torchvision,
    read_idx,
    shared_data_dir,
)
from .split import Split, goad_split, goad_tabular_split, one_class_split
from .toy import TOY_NAMES, make_toy
from .types import DataError, Dataset
from .upload import ACCEPTED_EXTENSIONS, LIMITS, Upload, UploadLimits, load_upload, sniff_columns

__all__ = [
    "ACCEPTED_EXTENSIONS",
    "LIMITS",
    "TORCHVISION_NAMES",
    "TOY_NAMES",
    "Upload",
    "UploadLimits",
    "DataError",
    "Dataset",
    "Split",
    "load_digits",
    "load_mnist_idx",
    "load_torchvision",
    "goad_split",
    "goad_tabular_split",
    "make_toy",
    "one_class_split",
    "read_idx",
    "shared_data_dir",
    "sniff_columns",
    "load_upload",
]
