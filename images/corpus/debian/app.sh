#!/bin/bash
echo "app running as $(id -un)"
