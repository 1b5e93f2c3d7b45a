"""Documents out of the store (issue 13): the plan as PDF (the clinical record and the
client's copy), the timeline as an iCalendar file, and the caseload's measures, sessions
and feedback as CSV. docs/documents.md describes each.

Nothing here is imported by `planwise --help` or the interface's start: fpdf and
icalendar load inside the functions that write the files (cold start, issue 12).
"""
