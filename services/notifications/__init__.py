"""Notifications: stored in-app, pushed to Expo tokens, mailed, under each user's preferences.

- `catalog`: the types, their default channels and their texts.
- `preferences`: per type x channel switches, quiet hours in the user's time zone.
- `store`: creating (numbered per user, once per domain event), listing, reading.
- `tokens`: Expo push tokens, one row per device.
- `expo`, `push`: the Expo push client and the delivery of pending pushes, tickets, receipts.
- `email`: notification mail.
- `domain`: which domain events notify whom (the `bounties.notify` and message jobs).
"""
