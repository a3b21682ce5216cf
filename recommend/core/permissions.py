"""Permissions the back office checks beyond a model's own add / change / delete / view."""

# Training a model or choosing which version serves changes what every shopper sees: both need the model
# registry's change permission (the "Train" pages and actions, Activate / Roll back, promoting an experiment).
MODEL_CHANGE_PERMISSION = "recommend.change_modelversion"
