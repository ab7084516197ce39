"""The pure core: value objects, options, mapping and the planner. No I/O, no clock."""
