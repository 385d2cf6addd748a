"""Default calibration / holdout periods of the data sets this package knows.

* ``cdnow`` and ``cdnow_sample``: the 39-week calibration (1997-01-01 to 1997-09-30) and 39-week
  holdout (1997-10-01 to 1998-06-30) of Fader, Hardie & Lee (2005). Every customer's first
  purchase lies in 1997-Q1, so the whole panel is the calibration cohort.
* ``online_retail``: calibration 2010-12-01 to 2011-06-30 (30 weeks), holdout 2011-07-01 to
  2011-12-09 (23 weeks, to the last day of the 2010-2011 release). The split leaves a
  calibration long enough to observe repeat behaviour for most of the cohort and a holdout
  that covers the autumn trading peak, the part of the year a wholesaler most wants
  forecast; calibration sees only one December, so the model cannot learn that seasonality
  from it, which is the honest setting for a forecast. For Online Retail II, which starts in
  2009-12, these defaults still apply (the extra year only lengthens calibration histories).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import pandas as pd

from insight.protocol import Periods

__all__ = ["DATASET_PERIODS"]

_CDNOW = Periods(pd.Timestamp("1997-09-30"), pd.Timestamp("1998-06-30"))

DATASET_PERIODS: Mapping[str, Periods] = MappingProxyType(
    {
        "cdnow": _CDNOW,
        "cdnow_sample": _CDNOW,
        "online_retail": Periods(pd.Timestamp("2011-06-30"), pd.Timestamp("2011-12-09")),
    }
)
