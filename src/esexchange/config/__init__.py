"""esExchange's configuration: connections, their options and secrets, personnel,
activity-type colours and the priority map, over the ``esx_*`` tables.

These functions are what the command line, the web console and the sync call; each
takes a SQLAlchemy ``Engine`` and raises the errors of ``esexchange.config.errors``
(user errors whose message says what to fix).
"""

from esexchange.config.colors import PRESET_NAMES, color_name, parse_color
from esexchange.config.connections import (
    RESET,
    OptionSetting,
    add_connection,
    connection_secret,
    get_connection,
    list_connections,
    option_settings,
    options,
    remove_connection,
    set_connection_secret,
    set_option,
    set_options,
    store_ews_url,
    update_connection,
)
from esexchange.config.errors import (
    ConfigError,
    ConnectionExists,
    ConnectionNotFound,
    EmployeeNotFound,
    InvalidColor,
    InvalidConnection,
    ReferenceNotFound,
)
from esexchange.config.model import (
    Auth,
    Backend,
    ConnectionChange,
    ConnectionConfig,
    needs_new_secret,
    validate_upn,
)
from esexchange.config.personnel import (
    PersonnelAdded,
    add_personnel,
    missing_email,
    personnel,
    remove_personnel,
    set_personnel_setting,
)
from esexchange.config.priority_map import PriorityChoice, priority_map, set_priority_map
from esexchange.config.reference import activity_types, set_activity_type_color

__all__ = [
    "PRESET_NAMES",
    "RESET",
    "Auth",
    "Backend",
    "ConfigError",
    "ConnectionChange",
    "ConnectionConfig",
    "ConnectionExists",
    "ConnectionNotFound",
    "EmployeeNotFound",
    "InvalidColor",
    "InvalidConnection",
    "OptionSetting",
    "PersonnelAdded",
    "PriorityChoice",
    "ReferenceNotFound",
    "activity_types",
    "add_connection",
    "add_personnel",
    "color_name",
    "connection_secret",
    "get_connection",
    "list_connections",
    "missing_email",
    "needs_new_secret",
    "option_settings",
    "options",
    "parse_color",
    "personnel",
    "priority_map",
    "remove_connection",
    "remove_personnel",
    "set_activity_type_color",
    "set_connection_secret",
    "set_option",
    "set_options",
    "set_personnel_setting",
    "set_priority_map",
    "store_ews_url",
    "update_connection",
    "validate_upn",
]
