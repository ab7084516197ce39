"""esExchange: two-way sync of ERP appointments and tasks with Microsoft Exchange."""
__version__ = "0.1.0"
