"""The app's screens, one module each (Posting/Harlequin style); dialogs are ModalScreens."""
