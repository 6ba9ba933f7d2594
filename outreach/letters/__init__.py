"""Letters: letter templates with placeholders, a letter or a batch of letters for chosen practices, and the
leave-behind; the letter and leave-behind document kinds (``documents``, registered in apps.ready) and the batch
renderer with its Celery task (``batches``, ``tasks``). ``services`` writes (and enqueues the batch render task
beside it), ``selectors`` reads. It may import ``outreach.models`` and the lower apps; campaigns import it (a
campaign's letter step), it imports no other outreach room.
"""
