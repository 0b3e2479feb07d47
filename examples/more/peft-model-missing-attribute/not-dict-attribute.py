"""NOT this family: an ordinary AttributeError in user code (a dict used like an object)."""

batch = {"input_ids": [[1, 2, 3]], "labels": [[1, 2, 3]]}
print(batch.input_ids)
