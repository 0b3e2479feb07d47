"""The learning loop: quiz questions from the KB, graded offline, scheduled with FSRS.

grading.py  grade an answer (choice exactly, open against concepts)
scheduler.py  the fsrs scheduler with an explicit clock; grade → rating
store.py    progress and incident history in SQLite (migrations, WAL)
params.py   questions parameterised by an incident's probes
session.py  QuizEngine: pick, answer, record, stats (UI-independent)
command.py  `diagnose quiz` and the offer after a diagnosis
"""
