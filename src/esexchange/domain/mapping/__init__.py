"""Field mapping between the ERP's activities, the canonical ``Item`` and Exchange items.

One module per rule:

- ``times``: ERP local time <-> UTC (DST gaps and overlaps), all-day spans, task dates.
- ``text``: characters Exchange refuses, the ERP column limits, the body trailer.
- ``priorities``: Outlook importance <-> ERP priority.
- ``categories``: activity types <-> ``ES_<no>_<description>`` categories.
- ``fields``: which side fields carry each canonical field (field-wise updates).
- ``convert``: the four conversions that apply all of the above.
"""

from esexchange.domain.mapping.categories import (
    category_name,
    default_activity_type,
    keep_user_categories,
    master_categories,
)
from esexchange.domain.mapping.context import MappingContext, make_context
from esexchange.domain.mapping.convert import (
    erp_to_item,
    exchange_to_item,
    item_to_erp,
    item_to_exchange,
)
from esexchange.domain.mapping.fields import erp_fields, exchange_carriers, exchange_fields
from esexchange.domain.mapping.priorities import (
    importance_for_priority,
    priority_for_importance,
)
from esexchange.domain.mapping.text import (
    ERP_LOCATION_MAX,
    ERP_SUBJECT_MAX,
    TRAILER_MARKER,
    add_trailer,
    strip_trailer,
)

__all__ = [
    "ERP_LOCATION_MAX",
    "ERP_SUBJECT_MAX",
    "TRAILER_MARKER",
    "MappingContext",
    "add_trailer",
    "category_name",
    "default_activity_type",
    "erp_fields",
    "erp_to_item",
    "exchange_carriers",
    "exchange_fields",
    "exchange_to_item",
    "importance_for_priority",
    "item_to_erp",
    "item_to_exchange",
    "keep_user_categories",
    "make_context",
    "master_categories",
    "priority_for_importance",
    "strip_trailer",
]
