"""The page helpers, by concern, under one name for the pages (``ui.chart``, ``ui.live_run``, ...):

* :mod:`pages._data`: datasets, the upload, the split, class pickers;
* :mod:`pages._page`: the frame of a page (begin, chart, figures kept for downloads, device);
* :mod:`pages._instant`: a loss page's instant view and per-anchor explorer;
* :mod:`pages._training`: a loss page's training form, run, results and downloads.

None of them imports this module, and they import each other one way only:
``_data`` -> ``_page`` -> ``_instant`` -> ``_export`` -> ``_training``.
"""

# ruff: noqa: F401
try:
    from pages import _state as state
    from pages._data import (
        DIGITS_ANOMALOUS,
        DIGITS_NORMAL,
        KINDS,
        MAX_TEST,
        MAX_TEST_GOAD,
        MAX_TRAIN_UPLOAD,
        SPLIT_NOTE,
        TOY_NOTE,
        class_names,
        class_pickers,
        current_upload,
        dataset_label,
        dataset_options,
        default_classes,
        load_dataset,
        make_split,
        pick_dataset,
        preview,
    )
    from pages._instant import (
        Link,
        breakdown_figure,
        end_instant_view,
        explorer,
        instant_figure,
        loss_metrics,
        paper_and_slide,
        start_from_instant,
    )
    from pages._page import (
        begin,
        chart,
        device,
        ensure_app_shell,
        figures_of,
        file_stem,
        hint,
        settings_container,
        shared_chart,
    )
    from pages._training import FormResult, live_run, run_and_store, show_run, train_form
except ImportError:  # a page file run on its own (AppTest)
    import _state as state
    from _data import (
        DIGITS_ANOMALOUS,
        DIGITS_NORMAL,
        KINDS,
        MAX_TEST,
        MAX_TEST_GOAD,
        MAX_TRAIN_UPLOAD,
        SPLIT_NOTE,
        TOY_NOTE,
        class_names,
        class_pickers,
        current_upload,
        dataset_label,
        dataset_options,
        default_classes,
        load_dataset,
        make_split,
        pick_dataset,
        preview,
    )
    from _instant import (
        Link,
        breakdown_figure,
        end_instant_view,
        explorer,
        instant_figure,
        loss_metrics,
        paper_and_slide,
        start_from_instant,
    )
    from _page import (
        begin,
        chart,
        device,
        ensure_app_shell,
        figures_of,
        file_stem,
        hint,
        settings_container,
        shared_chart,
    )
    from _training import FormResult, live_run, run_and_store, show_run, train_form
