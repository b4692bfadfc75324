//! The installation's layout: which terminals stand where and how they are wired together.
//! It is data (loaded from `installation.toml` at the edge); here it is checked and searched.

use crate::types::{TerminalId, TerminalType};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// One terminal of the layout and its outgoing connections, as the installation file lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalSpec {
    pub id: TerminalId,
    #[serde(rename = "type")]
    pub terminal_type: TerminalType,
    /// Free text shown on the terminal's screen, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// Outgoing connections: slot number → terminal reached through it.
    #[serde(default)]
    pub connections: BTreeMap<u32, TerminalId>,
}

/// A checked layout. Build it with [`Installation::new`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installation {
    terminals: BTreeMap<TerminalId, TerminalSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstallationError {
    #[error("the installation lists terminal {0} twice")]
    DuplicateTerminal(TerminalId),
    #[error("terminal {from} connects in slot {slot} to terminal {to}, which the installation does not list")]
    UnknownConnectionTarget {
        from: TerminalId,
        slot: u32,
        to: TerminalId,
    },
    #[error("terminal {0} connects to itself")]
    SelfConnection(TerminalId),
    #[error("the installation needs at least one {0} terminal")]
    Missing(TerminalType),
    #[error("terminal ids start at 1; 0 is not a terminal")]
    ZeroId,
}

/// A terminal of the default layout: id, type, outgoing (slot, to).
type Row = (TerminalId, TerminalType, &'static [(u32, TerminalId)]);

impl Installation {
    /// Checks a layout: unique ids, connections only to listed terminals, and at least one
    /// sender, gateway, server and receiver.
    pub fn new(specs: Vec<TerminalSpec>) -> Result<Self, InstallationError> {
        let mut terminals = BTreeMap::new();
        for spec in specs {
            if spec.id == 0 {
                return Err(InstallationError::ZeroId);
            }
            let id = spec.id;
            if terminals.insert(id, spec).is_some() {
                return Err(InstallationError::DuplicateTerminal(id));
            }
        }
        for spec in terminals.values() {
            for (&slot, &to) in &spec.connections {
                if to == spec.id {
                    return Err(InstallationError::SelfConnection(to));
                }
                if !terminals.contains_key(&to) {
                    return Err(InstallationError::UnknownConnectionTarget {
                        from: spec.id,
                        slot,
                        to,
                    });
                }
            }
        }
        let installation = Self { terminals };
        for needed in [
            TerminalType::Sender,
            TerminalType::Gateway,
            TerminalType::Server,
            TerminalType::Receiver,
        ] {
            if installation.first_of_type(needed).is_none() {
                return Err(InstallationError::Missing(needed));
            }
        }
        Ok(installation)
    }

    /// The 12-terminal layout the installation was designed with.
    pub fn default_layout() -> Self {
        use TerminalType::*;
        let rows: [Row; 12] = [
            (1, Sender, &[(1, 2)]),
            (2, Gateway, &[(1, 12), (2, 6)]),
            (3, Router, &[(1, 11), (2, 8), (3, 6)]),
            (4, Router, &[(1, 11), (2, 7), (3, 5)]),
            (5, Server, &[(1, 2), (2, 4)]),
            (6, Router, &[(1, 3), (2, 2), (3, 10)]),
            (7, Router, &[(1, 4), (2, 10)]),
            (8, Router, &[(1, 3), (2, 11)]),
            (9, Server, &[(1, 2), (2, 10)]),
            (10, Router, &[(1, 9), (2, 7), (3, 6)]),
            (11, Router, &[(1, 8), (2, 4), (3, 3)]),
            (12, Receiver, &[]),
        ];
        let specs = rows
            .iter()
            .map(|(id, terminal_type, connections)| TerminalSpec {
                id: *id,
                terminal_type: *terminal_type,
                payload: None,
                connections: connections.iter().copied().collect(),
            })
            .collect();
        Self::new(specs).expect("the default layout is valid")
    }

    pub fn terminals(&self) -> impl Iterator<Item = &TerminalSpec> {
        self.terminals.values()
    }

    pub fn terminal(&self, id: TerminalId) -> Option<&TerminalSpec> {
        self.terminals.get(&id)
    }

    pub fn terminal_type(&self, id: TerminalId) -> Option<TerminalType> {
        self.terminals.get(&id).map(|t| t.terminal_type)
    }

    /// The lowest-numbered terminal of a type.
    pub fn first_of_type(&self, terminal_type: TerminalType) -> Option<TerminalId> {
        self.of_type(terminal_type).next()
    }

    pub fn of_type(&self, terminal_type: TerminalType) -> impl Iterator<Item = TerminalId> + '_ {
        self.terminals
            .values()
            .filter(move |t| t.terminal_type == terminal_type)
            .map(|t| t.id)
    }

    /// Outgoing neighbours of a terminal, in slot order.
    pub fn neighbours(&self, id: TerminalId) -> Vec<TerminalId> {
        let mut seen = BTreeSet::new();
        self.terminals
            .get(&id)
            .map(|t| {
                t.connections
                    .values()
                    .copied()
                    .filter(|to| seen.insert(*to))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The first outgoing neighbour (by slot) of a given type.
    pub fn neighbour_of_type(
        &self,
        id: TerminalId,
        terminal_type: TerminalType,
    ) -> Option<TerminalId> {
        self.neighbours(id)
            .into_iter()
            .find(|n| self.terminal_type(*n) == Some(terminal_type))
    }

    /// Breadth-first shortest route from `from` to the nearest terminal accepted by `is_goal`,
    /// never passing through `avoid` and crossing only terminals accepted by `passable`. The
    /// route lists every terminal from `from` to the goal; ties go to the lower slot. `None`
    /// when no goal can be reached.
    pub fn shortest_route(
        &self,
        from: TerminalId,
        avoid: Option<TerminalId>,
        is_goal: impl Fn(TerminalId) -> bool,
        passable: impl Fn(TerminalId) -> bool,
    ) -> Option<Vec<TerminalId>> {
        let mut came_from: HashMap<TerminalId, TerminalId> = HashMap::new();
        let mut queue = VecDeque::from([from]);
        let mut visited = BTreeSet::from([from]);
        if let Some(avoid) = avoid {
            visited.insert(avoid);
        }
        while let Some(current) = queue.pop_front() {
            if current != from && is_goal(current) {
                let mut route = vec![current];
                let mut step = current;
                while let Some(&prev) = came_from.get(&step) {
                    route.push(prev);
                    step = prev;
                }
                route.reverse();
                return Some(route);
            }
            if current != from && !passable(current) {
                continue;
            }
            for next in self.neighbours(current) {
                if visited.insert(next) {
                    came_from.insert(next, current);
                    queue.push_back(next);
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_layout_has_the_documented_shape() {
        let layout = Installation::default_layout();
        assert_eq!(layout.terminals().count(), 12);
        assert_eq!(layout.neighbours(3), vec![11, 8, 6]);
        assert_eq!(layout.neighbours(12), Vec::<TerminalId>::new());
        assert_eq!(
            layout.of_type(TerminalType::Server).collect::<Vec<_>>(),
            vec![5, 9]
        );
        assert_eq!(layout.neighbour_of_type(2, TerminalType::Router), Some(6));
        assert_eq!(
            layout.neighbour_of_type(2, TerminalType::Receiver),
            Some(12)
        );
    }

    #[test]
    fn shortest_route_avoids_the_given_terminal() {
        let layout = Installation::default_layout();
        // From 6 the server 9 is reached through 10.
        assert_eq!(
            layout.shortest_route(6, None, |t| t == 9, |_| true),
            Some(vec![6, 10, 9])
        );
        // Not through 10: 6 → 3 → 11 → 4 → 7 → 10 is blocked, so 9 cannot be reached.
        assert_eq!(
            layout.shortest_route(6, Some(10), |t| t == 9, |_| true),
            None
        );
        // To the receiver from 4, never through 5: 4 → 11 → 3 → 6 → 2 → 12.
        let route = layout
            .shortest_route(4, Some(5), |t| t == 12, |_| true)
            .unwrap();
        assert_eq!(route, vec![4, 11, 3, 6, 2, 12]);
    }

    #[test]
    fn rejects_broken_layouts() {
        let mut specs: Vec<TerminalSpec> = Installation::default_layout()
            .terminals()
            .cloned()
            .collect();
        specs[0].connections.insert(2, 99);
        assert_eq!(
            Installation::new(specs.clone()),
            Err(InstallationError::UnknownConnectionTarget {
                from: 1,
                slot: 2,
                to: 99
            })
        );
        specs[0].connections.remove(&2);
        specs.retain(|s| s.terminal_type != TerminalType::Receiver);
        for s in &mut specs {
            s.connections.retain(|_, to| *to != 12);
        }
        assert_eq!(
            Installation::new(specs),
            Err(InstallationError::Missing(TerminalType::Receiver))
        );
    }
}
