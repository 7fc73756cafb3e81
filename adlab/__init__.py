"""adlab: contrastive learning for anomaly detection, as a small torch + numpy library.

The Streamlit app in ``app.py`` / ``pages/`` is a thin layer over this package; nothing here
imports streamlit. Convention everywhere: a higher anomaly score means more anomalous.
"""

__version__ = "0.1.0"
