"""MoodPlayer: a desktop music player that follows the listener's mood, privately and offline."""

__version__ = "0.1.0"
APP_NAME = "MoodPlayer"
APP_ID = "moodplayer"
