"""The class hub's routes, one router per concern; `autograder.hub.app.create_app` serves them all."""
