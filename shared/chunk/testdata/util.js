'use strict';

const path = require('path');

/**
 * Joins the parts with slashes.
 */
function joinAll(...parts) {
  return parts.join('/');
}

class Cache {
  constructor() {
    this.map = new Map();
  }

  get(key) {
    return this.map.get(key);
  }

  set(key, value) {
    if (this.map.size >= 1000) {
      this.map.delete(this.map.keys().next().value);
    }
    this.map.set(key, value);
  }
}

exports.handler = async (event) => {
  return { statusCode: 200, body: JSON.stringify(event) };
};

module.exports = { joinAll, Cache };
